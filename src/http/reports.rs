//! The department's reads that are not a resource of their own: the scheme catalogue
//! (`GET /v1/schemes`), served from the one catalogue of the rules so that a client learns the
//! codes, parameters and clauses the ledger accepts from the ledger itself; and the
//! department's figures (`GET /v1/figures?as_of=&programme=`, `app::reports`).

use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::support::{self, ok, StrictQuery};
use super::{AppState, Problem};
use crate::domain::event::SchemeParam;
use crate::domain::rules::catalogue::{check_param, param_name, Injury, Scheme, SCHEMES};
use crate::domain::types::Date;
use crate::domain::types::{BeneficiaryId, Programme};

/// One scheme of the catalogue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SchemeView {
    /// The stable code, e.g. `btxh.care_allowance`.
    pub code: &'static str,
    pub programme: Programme,
    /// `monthly` or `once`.
    pub paid: &'static str,
    /// The parameters a decision must give (`SchemeParam` names).
    pub required: Vec<&'static str>,
    /// The parameters a decision may give.
    pub allowed: Vec<&'static str>,
    /// The lowest and highest injury rate accepted, when the scheme takes one.
    pub injury_rate: Option<(u8, u8)>,
    /// The decision must name the household paid (a carer or foster household).
    pub payee_required: bool,
    /// A roster row can carry it (docs/roster-csv.md).
    pub in_roster: bool,
    /// The legal clause.
    pub clause: &'static str,
}

/// `GET /v1/schemes`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SchemeList {
    pub items: Vec<SchemeView>,
}

fn view(s: &Scheme) -> SchemeView {
    let p = s.params;
    let mut required = Vec::new();
    let mut allowed = Vec::new();
    let injury_rate = match p.injury {
        Injury::Required(lo, hi) => {
            required.push("InjuryRatePct");
            Some((lo, hi))
        }
        Injury::Optional(lo, hi) => {
            allowed.push("InjuryRatePct");
            Some((lo, hi))
        }
        Injury::None => None,
    };
    if p.children {
        required.push("Children");
    }
    if p.martyrs {
        required.push("Martyrs");
    }
    // What the rules accept, asked of the rules' own check.
    let optional = [
        SchemeParam::EspeciallySevere,
        SchemeParam::Children(1),
        SchemeParam::Pregnant,
        SchemeParam::SeniorityUnits(1),
        SchemeParam::LivingAlone,
        SchemeParam::CarerOf(BeneficiaryId(1)),
        SchemeParam::PoorHousehold,
        SchemeParam::DifficultArea,
        SchemeParam::Studying,
        SchemeParam::HasPension,
        SchemeParam::InFacility,
    ];
    for param in optional {
        let name = param_name(&param);
        if check_param(s, &param).is_ok() && !required.contains(&name) {
            allowed.push(name);
        }
    }
    SchemeView {
        code: s.code(),
        programme: s.programme,
        paid: if s.one_off { "once" } else { "monthly" },
        required,
        allowed,
        injury_rate,
        payee_required: p.payee_required,
        in_roster: s.in_roster(),
        clause: s.clause,
    }
}

/// The scheme catalogue: every scheme code the ledger accepts.
#[utoipa::path(
    get,
    path = "/v1/schemes",
    summary = "The scheme catalogue: codes, parameters, payee, clause",
    responses((status = 200, description = "every scheme", body = SchemeList)),
)]
pub async fn schemes() -> Response {
    ok(SchemeList {
        items: SCHEMES.iter().map(view).collect(),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FiguresQuery {
    /// The day, `YYYY-MM-DD` (Vietnam time): the chain up to its last record of that day.
    /// Default: everything recorded so far.
    #[serde(default)]
    pub as_of: Option<String>,
    /// Only this programme (`NCC`, `BTXH`, `HTXH`).
    #[serde(default)]
    pub programme: Option<String>,
}

/// The department's figures per province, commune and programme, as of a day.
#[utoipa::path(
    get,
    path = "/v1/figures",
    summary = "The department's figures: enrolled, standardised, verified, held, moved to an account, paid by channel",
    params(FiguresQuery),
    responses((status = 200, description = "the figures", body = crate::app::reports::Figures)),
)]
pub async fn figures(
    State(state): State<AppState>,
    StrictQuery(q): StrictQuery<FiguresQuery>,
) -> Result<Response, Problem> {
    let as_of = q
        .as_of
        .as_deref()
        .map(Date::parse)
        .transpose()
        .map_err(|e| Problem::bad_request(format!("as_of: {e}")))?;
    let programme = q
        .programme
        .as_deref()
        .map(Programme::parse)
        .transpose()
        .map_err(|e| Problem::bad_request(format!("programme: {e}")))?;
    let ledger = state.ledger().clone();
    let mut f = support::blocking(move || crate::app::reports::figures(&ledger, as_of))
        .await?
        .map_err(|e| Problem::unavailable(&e))?;
    if let Some(p) = programme {
        f.people.retain(|r| r.programme == p);
        f.payments.retain(|r| r.programme == p);
    }
    Ok(ok(f))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CalendarQuery {
    /// The day to judge by, `YYYY-MM-DD` (default: today, Vietnam time).
    #[serde(default)]
    pub today: Option<String>,
}

/// `GET /v1/calendar`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CalendarList {
    pub items: Vec<crate::domain::calendar::CalendarStatus>,
}

/// Per programme: the regulatory dates (list of M by the 25th of M−1, payment report of M by
/// the 20th of M+1), what is due next and what is overdue.
#[utoipa::path(
    get,
    path = "/v1/calendar",
    summary = "The monthly calendar: what is due next and what is overdue, per programme",
    params(CalendarQuery),
    responses((status = 200, description = "per programme", body = CalendarList)),
)]
pub async fn calendar(
    State(state): State<AppState>,
    StrictQuery(q): StrictQuery<CalendarQuery>,
) -> Result<Response, Problem> {
    let today = match q.today.as_deref() {
        Some(t) => Date::parse(t).map_err(|e| Problem::bad_request(format!("today: {e}")))?,
        None => crate::ledger::local_date((crate::ledger::system_clock())()),
    };
    let ledger = state.ledger().clone();
    let items = support::blocking(move || {
        crate::app::reports::calendar(&ledger, &crate::app::reports::PROGRAMMES, today)
    })
    .await?
    .map_err(|e| Problem::unavailable(&e))?;
    Ok(ok(CalendarList { items }))
}
