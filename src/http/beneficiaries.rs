//! Beneficiaries and entitlement decisions: enrol, correct, route, death, review holds,
//! erasure, grant/adjust/suspend/resume/terminate, show with history, search, and what is due.
//!
//! Request bodies are DTOs with `deny_unknown_fields`, converted into the domain's commands;
//! the domain's value types (citizen ID, dates, months, BINs, commune codes) parse themselves.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::support::{
    self, ok, path_id, read, submit, written, IdemKey, JsonBody, StrictQuery, Who,
};
use super::{AppState, Problem};
use crate::domain::command::{self as cmd, RouteRequest};
use crate::domain::event::{
    Decision, EntitlementKind, HoldReason, SchemeParam, SuspensionReason, TerminationReason,
};
use crate::domain::types::*;
use crate::domain::Command;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub number: String,
    pub date: Date,
    pub signer: String,
}

impl From<DecisionBody> for Decision {
    fn from(d: DecisionBody) -> Decision {
        Decision {
            number: d.number,
            date: d.date,
            signer: d.signer,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RouteBody {
    Bank {
        bin: BankBin,
        account_number: AccountNumber,
        holder_name: String,
    },
    Cash {
        pay_point: CommuneCode,
    },
}

impl From<RouteBody> for RouteRequest {
    fn from(r: RouteBody) -> RouteRequest {
        match r {
            RouteBody::Bank {
                bin,
                account_number,
                holder_name,
            } => RouteRequest::Bank {
                bin,
                account_number,
                holder_name,
            },
            RouteBody::Cash { pay_point } => RouteRequest::Cash { pay_point },
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntitlementBody {
    pub programme: Programme,
    pub scheme: String,
    #[serde(default)]
    pub params: Vec<SchemeParam>,
    pub kind: EntitlementKind,
    pub effective_from: Month,
    pub decision: DecisionBody,
    #[serde(default)]
    pub payee: Option<BeneficiaryId>,
}

impl From<EntitlementBody> for cmd::NewEntitlement {
    fn from(e: EntitlementBody) -> cmd::NewEntitlement {
        cmd::NewEntitlement {
            programme: e.programme,
            scheme: e.scheme,
            params: e.params,
            kind: e.kind,
            effective_from: e.effective_from,
            decision: e.decision.into(),
            payee: e.payee,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolBody {
    pub citizen_id: CitizenId,
    pub full_name: String,
    pub birth_date: Date,
    pub sex: Sex,
    #[serde(default)]
    pub address_line: String,
    pub commune: CommuneCode,
    pub programme: Programme,
    #[serde(default)]
    pub decision: Option<DecisionBody>,
    #[serde(default)]
    pub route: Option<RouteBody>,
    #[serde(default)]
    pub entitlements: Vec<EntitlementBody>,
}

#[utoipa::path(
    post,
    path = "/v1/beneficiaries",
    summary = "Enrol a beneficiary (with route and entitlements)",
    params(IdemKey),
    request_body = EnrolBody,
    responses(
        (
            status = 201,
            description = "enrolled; `Location` names the beneficiary",
            body = super::support::Written,
        ),
    ),
)]
pub async fn enrol(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    JsonBody(b): JsonBody<EnrolBody>,
) -> Result<Response, Problem> {
    let command = Command::Enrol(cmd::Enrol {
        citizen_id: b.citizen_id,
        full_name: b.full_name,
        birth_date: b.birth_date,
        sex: b.sex,
        address_line: b.address_line,
        commune: b.commune,
        programme: b.programme,
        decision: b.decision.map(Into::into),
        route: b.route.map(Into::into),
        entitlements: b.entitlements.into_iter().map(Into::into).collect(),
    });
    let receipt = submit(&state, &who, key, command).await?;
    written(&state, receipt).await
}

fn beneficiary_id(text: &str) -> Result<BeneficiaryId, Problem> {
    path_id(text, BeneficiaryId::parse)
}

fn entitlement_id(text: &str) -> Result<EntitlementId, Problem> {
    path_id(text, EntitlementId::parse)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectBody {
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub birth_date: Option<Date>,
    #[serde(default)]
    pub sex: Option<Sex>,
    #[serde(default)]
    pub address_line: Option<String>,
    #[serde(default)]
    pub commune: Option<CommuneCode>,
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/v1/beneficiaries/{id}/corrections",
    summary = "Correct details",
    params(("id" = String, Path, description = super::openapi::BENEFICIARY_ID), IdemKey),
    request_body = CorrectBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = super::support::Written,
        ),
    ),
)]
pub async fn correct(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<CorrectBody>,
) -> Result<Response, Problem> {
    let command = Command::CorrectDetails(cmd::CorrectDetails {
        beneficiary: beneficiary_id(&id)?,
        full_name: b.full_name,
        birth_date: b.birth_date,
        sex: b.sex,
        address_line: b.address_line,
        commune: b.commune,
        reason: b.reason,
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRouteBody {
    pub route: RouteBody,
    #[serde(default)]
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/v1/beneficiaries/{id}/route",
    summary = "Set the payment route",
    params(("id" = String, Path, description = super::openapi::BENEFICIARY_ID), IdemKey),
    request_body = SetRouteBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = super::support::Written,
        ),
    ),
)]
pub async fn set_route(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<SetRouteBody>,
) -> Result<Response, Problem> {
    let command = Command::SetPaymentRoute(cmd::SetPaymentRoute {
        beneficiary: beneficiary_id(&id)?,
        route: b.route.into(),
        reason: b.reason,
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeathBody {
    pub date_of_death: Date,
    #[serde(default)]
    pub decision: Option<DecisionBody>,
}

#[utoipa::path(
    post,
    path = "/v1/beneficiaries/{id}/death",
    summary = "Record a death",
    params(("id" = String, Path, description = super::openapi::BENEFICIARY_ID), IdemKey),
    request_body = DeathBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = super::support::Written,
        ),
    ),
)]
pub async fn record_death(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<DeathBody>,
) -> Result<Response, Problem> {
    let command = Command::RecordDeath(cmd::RecordDeath {
        beneficiary: beneficiary_id(&id)?,
        date_of_death: b.date_of_death,
        decision: b.decision.map(Into::into),
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/v1/beneficiaries/{id}/hold",
    summary = "Hold for review (out of batches)",
    params(("id" = String, Path, description = super::openapi::BENEFICIARY_ID), IdemKey),
    request_body = HoldBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = super::support::Written,
        ),
    ),
)]
pub async fn hold(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<HoldBody>,
) -> Result<Response, Problem> {
    if b.note.trim().is_empty() {
        return Err(Problem::invalid_body(
            "note",
            "note: say why the person is held",
        ));
    }
    let command = Command::HoldForReview(cmd::HoldForReview {
        beneficiary: beneficiary_id(&id)?,
        reason: HoldReason::Other { note: b.note },
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearBody {
    pub decision: DecisionBody,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/v1/beneficiaries/{id}/hold/clear",
    summary = "Clear a review hold",
    params(("id" = String, Path, description = super::openapi::BENEFICIARY_ID), IdemKey),
    request_body = ClearBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = super::support::Written,
        ),
    ),
)]
pub async fn clear_hold(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ClearBody>,
) -> Result<Response, Problem> {
    let command = Command::ClearReview(cmd::ClearReview {
        beneficiary: beneficiary_id(&id)?,
        decision: b.decision.into(),
        note: b.note,
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EraseBody {
    pub legal_basis: String,
}

/// Erasure appends its event and then removes the personal data from the store (blocking IO),
/// so it runs on the blocking pool through `Ledger::erase_personal_data`.
#[utoipa::path(
    post,
    path = "/v1/beneficiaries/{id}/erasure",
    summary = "Erase personal data (retention ended)",
    params(("id" = String, Path, description = super::openapi::BENEFICIARY_ID), IdemKey),
    request_body = EraseBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = super::support::Written,
        ),
    ),
)]
pub async fn erase(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<EraseBody>,
) -> Result<Response, Problem> {
    let submission = crate::ledger::Submission {
        principal: who.principal.clone(),
        idempotency_key: key,
        command: Command::ErasePersonalData(cmd::ErasePersonalData {
            beneficiary: beneficiary_id(&id)?,
            legal_basis: b.legal_basis,
        }),
    };
    let ledger = state.ledger().clone();
    let receipt = support::blocking(move || ledger.erase_personal_data(submission))
        .await?
        .map_err(Problem::from)?;
    written(&state, receipt).await
}

#[utoipa::path(
    post,
    path = "/v1/beneficiaries/{id}/entitlements",
    summary = "Grant an entitlement decision",
    params(("id" = String, Path, description = super::openapi::BENEFICIARY_ID), IdemKey),
    request_body = EntitlementBody,
    responses(
        (
            status = 201,
            description = "granted; `Location` names the entitlement",
            body = super::support::Written,
        ),
    ),
)]
pub async fn grant(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<EntitlementBody>,
) -> Result<Response, Problem> {
    let command = Command::GrantEntitlement(cmd::GrantEntitlement {
        beneficiary: beneficiary_id(&id)?,
        entitlement: b.into(),
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustBody {
    pub effective_from: Month,
    #[serde(default)]
    pub scheme: Option<String>,
    #[serde(default)]
    pub params: Option<Vec<SchemeParam>>,
    pub decision: DecisionBody,
}

#[utoipa::path(
    post,
    path = "/v1/entitlements/{id}/adjustments",
    summary = "Adjust an entitlement",
    params(("id" = String, Path, description = super::openapi::ENTITLEMENT_ID), IdemKey),
    request_body = AdjustBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = super::support::Written,
        ),
    ),
)]
pub async fn adjust(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<AdjustBody>,
) -> Result<Response, Problem> {
    let command = Command::AdjustEntitlement(cmd::AdjustEntitlement {
        entitlement: entitlement_id(&id)?,
        effective_from: b.effective_from,
        scheme: b.scheme,
        params: b.params,
        decision: b.decision.into(),
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendBody {
    pub from: Month,
    pub reason: SuspensionReason,
    pub decision: DecisionBody,
}

#[utoipa::path(
    post,
    path = "/v1/entitlements/{id}/suspensions",
    summary = "Suspend an entitlement",
    params(("id" = String, Path, description = super::openapi::ENTITLEMENT_ID), IdemKey),
    request_body = SuspendBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = super::support::Written,
        ),
    ),
)]
pub async fn suspend(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<SuspendBody>,
) -> Result<Response, Problem> {
    let command = Command::SuspendEntitlement(cmd::SuspendEntitlement {
        entitlement: entitlement_id(&id)?,
        from: b.from,
        reason: b.reason,
        decision: b.decision.into(),
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResumeBody {
    pub from: Month,
    #[serde(default)]
    pub back_pay_from: Option<Month>,
    pub decision: DecisionBody,
}

#[utoipa::path(
    post,
    path = "/v1/entitlements/{id}/resumptions",
    summary = "Resume an entitlement",
    params(("id" = String, Path, description = super::openapi::ENTITLEMENT_ID), IdemKey),
    request_body = ResumeBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = super::support::Written,
        ),
    ),
)]
pub async fn resume(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ResumeBody>,
) -> Result<Response, Problem> {
    let command = Command::ResumeEntitlement(cmd::ResumeEntitlement {
        entitlement: entitlement_id(&id)?,
        from: b.from,
        back_pay_from: b.back_pay_from,
        decision: b.decision.into(),
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TerminateBody {
    pub last_month: Month,
    pub reason: TerminationReason,
    pub decision: DecisionBody,
}

#[utoipa::path(
    post,
    path = "/v1/entitlements/{id}/terminations",
    summary = "Terminate an entitlement",
    params(("id" = String, Path, description = super::openapi::ENTITLEMENT_ID), IdemKey),
    request_body = TerminateBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = super::support::Written,
        ),
    ),
)]
pub async fn terminate(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<TerminateBody>,
) -> Result<Response, Problem> {
    let command = Command::TerminateEntitlement(cmd::TerminateEntitlement {
        entitlement: entitlement_id(&id)?,
        last_month: b.last_month,
        reason: b.reason,
        decision: b.decision.into(),
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ShowQuery {
    /// Include every record that touches the person (read from the store).
    #[serde(default)]
    pub history: Option<bool>,
}

/// A beneficiary with entitlements (from the state); with `?history=true` also every record
/// that touches them, read from the store (the shared view of `views::beneficiary`).
#[utoipa::path(
    get,
    path = "/v1/beneficiaries/{id}",
    summary = "A beneficiary with entitlements (and with ?history=true its records)",
    params(("id" = String, Path, description = super::openapi::BENEFICIARY_ID), ShowQuery),
    responses(
        (status = 200, description = "the beneficiary", body = crate::app::views::BeneficiaryView),
    ),
)]
pub async fn show(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    StrictQuery(q): StrictQuery<ShowQuery>,
) -> Result<Response, Problem> {
    let id = beneficiary_id(&id)?;
    let view = if q.history.unwrap_or(false) {
        let ledger = state.ledger().clone();
        let view = support::blocking(move || crate::app::views::beneficiary(&ledger, id))
            .await?
            .map_err(|e| Problem::unavailable(&e))?;
        if state.ledger().is_stopped() {
            return Err(Problem::unavailable(&"the writer stopped"));
        }
        view
    } else {
        support::read_needing(&state, move |s| match s.beneficiary(id) {
            // Everything the profile shows comes from records that touch the person, so a
            // lookup need not wait for a long command that does not concern them.
            Some(b) => (
                Some(crate::app::views::profile(s, b)),
                b.history.last().map_or(0, |l| l + 1),
            ),
            None => (None, s.applied()),
        })
        .await?
    };
    match view {
        Some(v) => Ok(ok(as_seen(who.role, v)?)),
        None => Err(Problem::from_rejection(
            &crate::domain::Rejection::UnknownBeneficiary(id),
        )),
    }
}

/// The view with the citizen ID as `role` may read it (`domain::access::sees_citizen_ids`):
/// whole for officers, masked for every other role.
fn as_seen(
    role: Role,
    view: crate::app::views::BeneficiaryView,
) -> Result<serde_json::Value, Problem> {
    let shown = view
        .identity
        .as_ref()
        .map(|i| crate::domain::access::citizen_id_as_seen(role, &i.citizen_id));
    let mut json = serde_json::to_value(&view).map_err(|e| Problem::unavailable(&e))?;
    if let (Some(shown), Some(identity)) = (shown, json.get_mut("identity")) {
        identity["citizen_id"] = shown.into();
    }
    Ok(json)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// A 12-digit citizen ID (exact).
    #[serde(default)]
    pub citizen_id: Option<String>,
    /// Words of the name, case and Vietnamese diacritics ignored.
    #[serde(default)]
    pub name: Option<String>,
    /// A 5-digit commune code.
    #[serde(default)]
    pub commune: Option<String>,
    /// Return beneficiaries after this id (the previous page's `next`).
    #[serde(default)]
    pub after: Option<String>,
    /// Page size (at most `page_size_max`).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/v1/beneficiaries",
    summary = "Search beneficiaries by citizen ID, name and commune",
    params(SearchQuery),
    responses((status = 200, description = "a page of hits", body = super::search::Found)),
)]
pub async fn search(
    State(state): State<AppState>,
    Who(who): Who,
    StrictQuery(q): StrictQuery<SearchQuery>,
) -> Result<Response, Problem> {
    let page = support::page(&state, q.limit)?;
    let after = support::optional("after", q.after.as_deref(), BeneficiaryId::parse)?
        .unwrap_or(BeneficiaryId(0));
    let citizen = support::optional("citizen_id", q.citizen_id.as_deref(), CitizenId::parse)?;
    let commune = support::optional("commune", q.commune.as_deref(), CommuneCode::parse)?;
    if let Some(n) = &q.name {
        if n.chars().count() > state.limits.search_text_chars_max {
            return Err(Problem::bad_request(format!(
                "name is longer than search_text_chars_max ({})",
                state.limits.search_text_chars_max
            )));
        }
    }
    let query = super::search::Query {
        citizen,
        name: q.name.clone(),
        commune,
        after,
        limit: page.limit,
        viewer: who.role,
    };
    let st = state.clone();
    let (result, applied) =
        support::blocking(move || st.search.search(st.ledger(), &query)).await??;
    support::wait_durable(&state, applied).await?;
    Ok(ok(result))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DueQuery {
    /// The month, `YYYY-MM`.
    pub month: String,
}

#[utoipa::path(
    get,
    path = "/v1/beneficiaries/{id}/due",
    summary = "What is due for a month, line by line, and the next payment",
    params(("id" = String, Path, description = super::openapi::BENEFICIARY_ID), DueQuery),
    responses((status = 200, description = "what is due", body = crate::app::views::DueView)),
)]
pub async fn due(
    State(state): State<AppState>,
    Path(id): Path<String>,
    StrictQuery(q): StrictQuery<DueQuery>,
) -> Result<Response, Problem> {
    let id = beneficiary_id(&id)?;
    let month = Month::parse(&q.month).map_err(|e| Problem::bad_request(format!("month: {e}")))?;
    let exists = read(&state, move |s| s.beneficiary(id).is_some()).await?;
    if !exists {
        return Err(Problem::from_rejection(
            &crate::domain::Rejection::UnknownBeneficiary(id),
        ));
    }
    let view = read(&state, move |s| crate::app::views::due(s, id, month)).await?;
    view.map(ok)
        .map_err(|e| Problem::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid", e))
}

#[utoipa::path(
    get,
    path = "/v1/entitlements/{id}",
    summary = "An entitlement with its changes and paid months",
    params(("id" = String, Path, description = super::openapi::ENTITLEMENT_ID)),
    responses(
        (
            status = 200,
            description = "the entitlement and whose it is",
            body = super::openapi::EntitlementOf,
        ),
    ),
)]
pub async fn entitlement(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = entitlement_id(&id)?;
    let found = read(&state, move |s| {
        let e = s.entitlement(id)?;
        let b = s.beneficiary(e.grant.beneficiary)?;
        crate::app::views::profile(s, b)
            .entitlements
            .into_iter()
            .find(|v| v.id == id)
            .map(|v| (b.id, v))
    })
    .await?;
    match found {
        Some((beneficiary, view)) => Ok(ok(serde_json::json!({
            "beneficiary": beneficiary,
            "entitlement": view,
        }))),
        None => Err(Problem::from_rejection(
            &crate::domain::Rejection::UnknownEntitlement(id),
        )),
    }
}

use super::limits::ROSTER_LISTED_MAX;

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RosterResult {
    pub rows: usize,
    /// Rows enrolled (by this request, or by the earlier one with the same Idempotency-Key).
    pub enrolled: usize,
    /// Where the enrolled rows' records start and end, and the last one's hash.
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub hash: Option<String>,
    pub warnings: usize,
    pub warnings_shown: Vec<String>,
}

/// Enrols every row of a roster (the CSV of `docs/roster-csv.md`), all or none. The file is
/// checked first and refused with every problem listed (422 `invalid-roster`) if any row is
/// wrong; then all rows go to the ledger as one command, which refuses the whole file if any
/// row conflicts with the ledger (a person already enrolled, naming the line). A retry with the
/// same Idempotency-Key replays the answer and appends nothing.
#[utoipa::path(
    post,
    path = "/v1/rosters",
    summary = "Enrol every row of a roster CSV (docs/roster-csv.md; heavy job)",
    params(IdemKey),
    request_body(
        content = String,
        content_type = "text/csv",
        description = "the roster (docs/roster-csv.md)",
    ),
    responses((status = 200, description = "every row enrolled", body = RosterResult)),
)]
pub async fn roster(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    req: axum::extract::Request,
) -> Result<Response, Problem> {
    support::require_csv(&req, "the roster", "docs/roster-csv.md")?;
    let bytes = support::body_bytes(req, &(), "roster_bytes_max").await?;
    let ledger = state.ledger().clone();
    let (who2, key2) = (who.clone(), key.clone());
    let result = support::job(&state, &who, key.as_ref(), move || {
        enrol_roster(&ledger, &who2, key2, &bytes)
    })
    .await??;
    Ok(ok(result))
}

fn enrol_roster(
    ledger: &crate::ledger::Ledger,
    who: &super::Caller,
    key: Option<crate::ledger::IdempotencyKey>,
    bytes: &[u8],
) -> Result<RosterResult, Problem> {
    let today = crate::ledger::local_date((crate::ledger::system_clock())());
    let roster = crate::formats::roster::parse_roster(
        bytes,
        crate::formats::reference::Reference::embedded(),
        today,
    )
    .map_err(|rejected| {
        support::upload_refused("invalid-roster", "the roster", &rejected.errors)
    })?;
    let warnings = roster.warnings.len();
    let warnings_shown = roster
        .warnings
        .iter()
        .take(ROSTER_LISTED_MAX)
        .map(ToString::to_string)
        .collect();
    let command = roster.into_command();
    let n = command.rows.len();
    let receipt = ledger
        .submit(crate::ledger::Submission {
            principal: who.principal.clone(),
            idempotency_key: key,
            command: Command::ImportRoster(command),
        })
        .map_err(|e| Problem::from_submit(&e))?;
    Ok(RosterResult {
        rows: n,
        enrolled: n,
        first_seq: receipt.last_seq().map(|_| receipt.first_seq),
        last_seq: receipt.last_seq(),
        hash: receipt.last_seq().map(|_| crate::chain::hex(&receipt.hash)),
        warnings,
        warnings_shown,
    })
}
