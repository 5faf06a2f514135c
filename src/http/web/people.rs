//! A person: search by name or citizen ID (the API's search index, `http::search`), and the
//! person's page from the shared views (`app::views::beneficiary` with its history,
//! `app::views::due` with the rule, decree and clause of each line): entitlements, what is due
//! for a month and why, payments per month, holds, and every record that touches them.
//!
//! Citizen IDs are shown whole only to the officers who enrol and correct people
//! (`domain::access::sees_citizen_ids`, as over the API); every other role reads the masked
//! form (`001******123`).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::format::{date, month, time, vnd, words};
use super::i18n::Text;
use super::{page, render, Signed, Web};
use crate::app::views;
use crate::domain::access::citizen_id_as_seen;
use crate::domain::types::{BeneficiaryId, CitizenId, Month};
use crate::http::support::{blocking, read, wait_durable};

#[derive(Deserialize)]
pub struct SearchForm {
    #[serde(default)]
    q: Option<String>,
}

struct Hit {
    id: String,
    name: String,
    programme: String,
    commune: String,
}

#[derive(Template)]
#[template(path = "web/people.html")]
struct SearchBody {
    t: &'static Text,
    q: String,
    searched: bool,
    hits: Vec<Hit>,
}

pub async fn search(State(web): State<Web>, who: Signed, Query(f): Query<SearchForm>) -> Response {
    if !super::may(who.role(), &Method::GET, "/v1/beneficiaries") {
        return who.forbidden();
    }
    let t = who.t();
    let q = f.q.unwrap_or_default().trim().to_owned();
    let mut hits = Vec::new();
    if !q.is_empty() {
        if q.chars().count() > web.app.limits.search_text_chars_max {
            return who.message(StatusCode::BAD_REQUEST, t.search_hint.to_owned());
        }
        let digits = q.chars().all(|c| c.is_ascii_digit());
        let query = crate::http::search::Query {
            citizen: if digits {
                match CitizenId::parse(&q) {
                    Ok(c) => Some(c),
                    Err(e) => return who.message(StatusCode::BAD_REQUEST, e.to_string()),
                }
            } else {
                None
            },
            name: (!digits).then(|| q.clone()),
            commune: None,
            after: BeneficiaryId(0),
            limit: crate::http::limits::WEB_PAGE_ROWS_MAX,
            viewer: who.role(),
        };
        let app = web.app.clone();
        let found = match blocking(move || app.search.search(app.ledger(), &query)).await {
            Ok(Ok((found, applied))) => {
                if let Err(p) = wait_durable(&web.app, applied).await {
                    return who.problem(p);
                }
                found
            }
            Ok(Err(p)) | Err(p) => return who.problem(p),
        };
        hits = found
            .items
            .into_iter()
            .map(|h| Hit {
                id: h.id.to_string(),
                name: h.full_name.unwrap_or_else(|| t.erased.to_owned()),
                programme: h.programme.to_string(),
                commune: h.commune.to_string(),
            })
            .collect();
    }
    let body = SearchBody {
        t,
        searched: !q.is_empty(),
        q,
        hits,
    };
    page(&who.layout(), StatusCode::OK, t.nav_people, render(&body))
}

struct Entitlement {
    id: String,
    scheme: String,
    from: String,
    decision: String,
    changes: Vec<String>,
}

struct DueLine {
    scheme: String,
    month: String,
    kind: String,
    amount: String,
    rule: String,
    clause: String,
    decision: String,
}

struct Event {
    seq: u64,
    when: String,
    who: String,
    what: String,
}

#[derive(Template)]
#[template(path = "web/person.html")]
struct PersonBody {
    t: &'static Text,
    id: String,
    name: String,
    citizen_id: String,
    birth_date: String,
    commune: String,
    programme: String,
    route: String,
    hold: Option<String>,
    death: Option<String>,
    entitlements: Vec<Entitlement>,
    due_month: String,
    due_month_value: String,
    due: Vec<DueLine>,
    due_total: String,
    due_error: Option<String>,
    paid: Vec<(String, String)>,
    history: Vec<Event>,
    history_more: usize,
}

#[derive(Deserialize)]
pub struct MonthQuery {
    #[serde(default)]
    month: Option<String>,
}

pub async fn page_handler(
    State(web): State<Web>,
    who: Signed,
    Path(id): Path<String>,
    Query(q): Query<MonthQuery>,
) -> Response {
    if !super::may(who.role(), &Method::GET, "/v1/beneficiaries/{id}") {
        return who.forbidden();
    }
    let t = who.t();
    let Some(id) = BeneficiaryId::parse(&id)
        .ok()
        .or_else(|| id.parse().ok().map(BeneficiaryId))
    else {
        return who.message(StatusCode::NOT_FOUND, t.not_found.to_owned());
    };
    let asked = match q
        .month
        .as_deref()
        .filter(|m| !m.is_empty())
        .map(Month::parse)
    {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(e)) => return who.message(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let ledger = web.app.ledger().clone();
    let view = match blocking(move || views::beneficiary(&ledger, id)).await {
        Ok(Ok(Some(v))) => v,
        Ok(Ok(None)) => return who.message(StatusCode::NOT_FOUND, t.not_found.to_owned()),
        Ok(Err(e)) => return who.problem(crate::http::Problem::unavailable(&e)),
        Err(p) => return who.problem(p),
    };
    // What is due for the month asked, by default the latest month paid (else today's).
    let today = crate::ledger::local_date((crate::ledger::system_clock())());
    let due_month = asked
        .or_else(|| {
            view.entitlements
                .iter()
                .flat_map(|e| e.paid.iter().map(|(m, _)| *m))
                .max()
        })
        .unwrap_or_else(|| today.month());
    let due = match read(&web.app, move |s| views::due(s, id, due_month)).await {
        Ok(d) => d,
        Err(p) => return who.problem(p),
    };
    let role = who.role();
    let mut paid: BTreeMap<Month, crate::domain::types::Vnd> = BTreeMap::new();
    for e in &view.entitlements {
        for (m, v) in &e.paid {
            *paid.entry(*m).or_default() = paid.get(m).copied().unwrap_or_default() + *v;
        }
    }
    let shown = crate::http::limits::WEB_PAGE_ROWS_MAX;
    let (due_lines, due_total, due_error) = match &due {
        Ok(d) => (
            d.lines
                .iter()
                .map(|l| DueLine {
                    scheme: l.scheme.clone(),
                    month: month(l.source_month),
                    kind: words(&l.kind),
                    amount: vnd(l.amount),
                    rule: l.rule.clone(),
                    clause: l.clause.to_owned(),
                    decision: l.decision.clone(),
                })
                .collect(),
            vnd(d.total),
            None,
        ),
        Err(e) => (Vec::new(), String::new(), Some(e.clone())),
    };
    let identity = view.identity.as_ref();
    let body = PersonBody {
        t,
        id: view.id.to_string(),
        name: identity.map_or_else(|| t.erased.to_owned(), |i| i.full_name.clone()),
        citizen_id: identity.map_or_else(
            || t.erased.to_owned(),
            |i| citizen_id_as_seen(role, &i.citizen_id),
        ),
        birth_date: identity.map_or_else(String::new, |i| date(i.birth_date)),
        commune: view.commune.to_string(),
        programme: view.programme.to_string(),
        route: match (&view.route, &view.account) {
            (Some(r), Some(a)) => format!("{} · {a}", words(r)),
            (Some(r), None) => words(r),
            (None, _) => "—".to_owned(),
        },
        hold: view.held_for_review.as_ref().map(words),
        death: view.date_of_death.map(date),
        entitlements: view
            .entitlements
            .iter()
            .map(|e| Entitlement {
                id: e.id.to_string(),
                scheme: e.scheme.clone(),
                from: month(e.effective_from),
                decision: format!("{} ({})", e.decision.number, date(e.decision.date)),
                changes: e
                    .changes
                    .iter()
                    .map(|c| format!("{} {} ({})", c.change, month(c.from), c.decision))
                    .collect(),
            })
            .collect(),
        due_month: month(due_month),
        due_month_value: due_month.to_string(),
        due: due_lines,
        due_total,
        due_error,
        paid: paid
            .into_iter()
            .rev()
            .map(|(m, v)| (month(m), vnd(v)))
            .collect(),
        history_more: view.history.len().saturating_sub(shown),
        history: view
            .history
            .iter()
            .rev()
            .take(shown)
            .map(|h| Event {
                seq: h.seq,
                when: time(h.recorded_at_ms),
                who: h.principal.clone(),
                what: h.event.name().replace('_', " "),
            })
            .collect(),
    };
    let title = format!("{} {}", t.person, body.id);
    page(&who.layout(), StatusCode::OK, &title, render(&body))
}
